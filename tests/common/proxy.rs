//! Tiny HTTP/1.1 proxies on 127.0.0.1, one request per connection: [`FlakyProxy`] answers `503`
//! to the first `failures` requests, then forwards; [`FaultProxy`] switches between forwarding,
//! 503s, dropped answers and reset connections while it runs. Both count what they did.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A loopback listener that hands each connection to `handle` on its own thread; stops on drop.
struct Acceptor {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    fn start(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = Arc::new(handle);
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let h = handle.clone();
                        std::thread::spawn(move || h(conn));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Acceptor {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The running proxy; stops on drop.
pub struct FlakyProxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Requests answered 503.
    pub refused: Arc<AtomicUsize>,
    /// Requests forwarded upstream.
    pub forwarded: Arc<AtomicUsize>,
    acceptor: Acceptor,
}

impl FlakyProxy {
    /// Starts a proxy to `127.0.0.1:upstream` failing the first `failures` requests.
    pub fn start(upstream: u16, failures: usize) -> Self {
        let refused = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let (r, f) = (refused.clone(), forwarded.clone());
        let acceptor = Acceptor::start(move |conn| {
            let _ = handle(conn, upstream, failures, &r, &f);
        });
        FlakyProxy {
            port: acceptor.port,
            refused,
            forwarded,
            acceptor,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.acceptor.uri()
    }
}

fn handle(
    mut conn: TcpStream,
    upstream: u16,
    failures: usize,
    refused: &AtomicUsize,
    forwarded: &AtomicUsize,
) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let Some((head, body)) = read_request(&mut conn)? else {
        return Ok(());
    };
    if refused.fetch_add(1, Ordering::SeqCst) < failures {
        return conn.write_all(UNAVAILABLE);
    }
    refused.fetch_sub(1, Ordering::SeqCst);
    forwarded.fetch_add(1, Ordering::SeqCst);
    // Forwarded with `Connection: close` both ways, so no connection is ever reused.
    let resp = forward(&head, &body, upstream)?;
    write_back(&mut conn, &resp)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nunavailable";

/// What a [`FaultProxy`] does with the next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Forward to the upstream port.
    Forward = 0,
    /// Answer `503 Service Unavailable` without forwarding.
    Refuse503 = 1,
    /// Forward, then close the connection without answering: the server acted, the client
    /// cannot know (the ambiguous case).
    DropAnswer = 2,
    /// Close the connection at once, before reading the request.
    Reset = 3,
}

/// An HTTP/1.1 proxy on 127.0.0.1 whose behaviour changes while it runs ([`FaultProxy::set`]);
/// one request per connection. Counts what it did.
pub struct FaultProxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Requests answered 503.
    pub refused: Arc<AtomicUsize>,
    /// Requests forwarded whose answer was dropped.
    pub dropped: Arc<AtomicUsize>,
    /// Connections reset before reading.
    pub reset: Arc<AtomicUsize>,
    /// Requests forwarded and answered.
    pub forwarded: Arc<AtomicUsize>,
    mode: Arc<std::sync::atomic::AtomicU8>,
    acceptor: Acceptor,
}

impl FaultProxy {
    /// Starts a forwarding proxy to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> Self {
        let counters: [Arc<AtomicUsize>; 4] = Default::default();
        let mode = Arc::new(std::sync::atomic::AtomicU8::new(Mode::Forward as u8));
        let (c, m) = (counters.clone(), mode.clone());
        let acceptor = Acceptor::start(move |conn| {
            let _ = fault_handle(conn, upstream, &m, &c);
        });
        let [refused, dropped, reset, forwarded] = counters;
        FaultProxy {
            port: acceptor.port,
            refused,
            dropped,
            reset,
            forwarded,
            mode,
            acceptor,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.acceptor.uri()
    }

    /// Changes what it does with the next requests.
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

fn fault_handle(
    mut conn: TcpStream,
    upstream: u16,
    mode: &std::sync::atomic::AtomicU8,
    counters: &[Arc<AtomicUsize>; 4],
) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    if mode.load(Ordering::SeqCst) == Mode::Reset as u8 {
        counters[2].fetch_add(1, Ordering::SeqCst);
        return Ok(());
    }
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let Some((head, body)) = read_request(&mut conn)? else {
        return Ok(());
    };
    // The mode when the request arrived decides.
    let m = mode.load(Ordering::SeqCst);
    if m == Mode::Refuse503 as u8 {
        counters[0].fetch_add(1, Ordering::SeqCst);
        return conn.write_all(UNAVAILABLE);
    }
    let resp = forward(&head, &body, upstream)?;
    if m == Mode::DropAnswer as u8 {
        counters[1].fetch_add(1, Ordering::SeqCst);
        return Ok(());
    }
    counters[3].fetch_add(1, Ordering::SeqCst);
    write_back(&mut conn, &resp)
}

/// Reads one request: its head (text) and its Content-Length body.
fn read_request(conn: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk)?;
        if n == 0 || buf.len() > 1 << 20 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some((head, buf[head_end..].to_vec())))
}

/// Sends a request upstream with `Connection: close` and returns the whole answer.
fn forward(head: &str, body: &[u8], upstream: u16) -> std::io::Result<Vec<u8>> {
    let mut new_head = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            new_head.push_str(line);
            new_head.push_str("\r\n");
        }
    }
    new_head.push_str("Connection: close\r\n\r\n");
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.set_read_timeout(Some(Duration::from_secs(60)))?;
    up.write_all(new_head.as_bytes())?;
    up.write_all(body)?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp)?;
    Ok(resp)
}

/// Writes an upstream answer back, marked `Connection: close`.
fn write_back(conn: &mut TcpStream, resp: &[u8]) -> std::io::Result<()> {
    let Some(end) = find(resp, b"\r\n\r\n") else {
        return conn.write_all(resp);
    };
    let mut out = String::new();
    for line in String::from_utf8_lossy(&resp[..end]).split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    conn.write_all(out.as_bytes())?;
    conn.write_all(&resp[end + 4..])
}
