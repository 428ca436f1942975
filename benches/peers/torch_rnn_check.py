"""Runs the packed bidirectional scans written by `examples/rnn_torch_check.rs` through
`torch.nn.GRU` / `torch.nn.LSTM` and prints the largest differences in outputs and gradients.

Our layer takes the input pre-activations `xp` (N x 2G: x W_ih + b_ih of each direction, rows
packed time-major, longest row first) and W_hh (2 x H x G, used as h W_hh), b_hh (2 x G). In
PyTorch the same is an RNN whose input is xp itself: weight_ih = [I | 0] for the forward
direction and [0 | I] for the reverse one, bias_ih = 0, weight_hh = W_hh[d]^T, bias_hh = b_hh[d].

usage: python torch_rnn_check.py CHECK.json   (exit status 1 when a difference exceeds 1e-4)
"""

import json
import sys

import numpy as np
import torch


def main():
    cases = json.load(open(sys.argv[1]))
    worst = 0.0
    for c in cases:
        h, lens = c["hidden"], c["lengths"]
        sizes, offsets = c["sizes"], c["offsets"]
        g = (3 if c["cell"] == "gru" else 4) * h
        n, nb, steps = sum(lens), len(lens), len(sizes)
        xp = np.array(c["xp"], dtype=np.float64).reshape(n, 2 * g)
        w = np.array(c["w_hh"], dtype=np.float64).reshape(2, h, g)
        b = np.array(c["b_hh"], dtype=np.float64).reshape(2, g)
        cc = np.array(c["c"], dtype=np.float64).reshape(n, 2 * h)
        rnn = (torch.nn.GRU if c["cell"] == "gru" else torch.nn.LSTM)(
            2 * g, h, batch_first=True, bidirectional=True).double()
        eye = np.eye(g)
        with torch.no_grad():
            for d, sfx in enumerate(("", "_reverse")):
                wi = np.zeros((g, 2 * g))
                wi[:, d * g:(d + 1) * g] = eye
                getattr(rnn, f"weight_ih_l0{sfx}").copy_(torch.from_numpy(wi))
                getattr(rnn, f"bias_ih_l0{sfx}").zero_()
                getattr(rnn, f"weight_hh_l0{sfx}").copy_(torch.from_numpy(w[d].T.copy()))
                getattr(rnn, f"bias_hh_l0{sfx}").copy_(torch.from_numpy(b[d]))
        # packed row (offsets[t] + r) is batch row r at time t
        x = np.zeros((nb, steps, 2 * g))
        cpad = np.zeros((nb, steps, 2 * h))
        for t in range(steps):
            for r in range(sizes[t]):
                x[r, t] = xp[offsets[t] + r]
                cpad[r, t] = cc[offsets[t] + r]
        xt = torch.from_numpy(x).requires_grad_(True)
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lens), batch_first=True)
        y, _ = rnn(packed)
        y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True)
        (y * torch.from_numpy(cpad)).sum().backward()
        yn, gx = y.detach().numpy(), xt.grad.numpy()
        ours_y = np.array(c["y"]).reshape(n, 2 * h)
        ours_gx = np.array(c["grad_xp"]).reshape(n, 2 * g)
        dy = max(abs(ours_y[offsets[t] + r] - yn[r, t]).max()
                 for t in range(steps) for r in range(sizes[t]))
        dgx = max(abs(ours_gx[offsets[t] + r] - gx[r, t]).max()
                  for t in range(steps) for r in range(sizes[t]))
        gw = np.array(c["grad_w_hh"]).reshape(2, h, g)
        gb = np.array(c["grad_b_hh"]).reshape(2, g)
        dgw = dgb = 0.0
        for d, sfx in enumerate(("", "_reverse")):
            tw = getattr(rnn, f"weight_hh_l0{sfx}").grad.numpy().T
            tb = getattr(rnn, f"bias_hh_l0{sfx}").grad.numpy()
            dgw = max(dgw, abs(gw[d] - tw).max())
            dgb = max(dgb, abs(gb[d] - tb).max())
        print(f"{c['cell']}: max |ours - torch| outputs {dy:.2e}, grad xp {dgx:.2e}, "
              f"grad W_hh {dgw:.2e}, grad b_hh {dgb:.2e}")
        worst = max(worst, dy, dgx, dgw, dgb)
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main()
