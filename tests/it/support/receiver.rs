//! A webhook receiver on loopback: records every request (headers and raw body) and answers
//! with whatever the test's script says for the n-th request (status, delay before answering).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Received {
    /// Lower-case header names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

type Script = dyn Fn(usize) -> (u16, Duration) + Send + Sync;

pub struct Receiver {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Answers every request with 200 at once.
    pub fn ok() -> Receiver {
        Receiver::scripted(|_| (200, Duration::ZERO))
    }

    /// `script(n)` (n from 0) gives the status and the delay of the n-th request's answer.
    pub fn scripted(script: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static) -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap(), script)
    }

    /// Starts on a given listener (e.g. one bound to a port a test kept free).
    pub fn on(
        listener: TcpListener,
        script: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static,
    ) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let counter = Arc::new(Mutex::new(0usize));
        let g = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (g, script, counter) = (g.clone(), script.clone(), counter.clone());
                std::thread::spawn(move || serve(stream, &g, &*script, &counter));
            }
        });
        Receiver { addr, got }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

fn serve(stream: TcpStream, got: &Mutex<Vec<Received>>, script: &Script, counter: &Mutex<usize>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = {
            let mut c = counter.lock().unwrap();
            *c += 1;
            *c - 1
        };
        got.lock().unwrap().push(Received { headers, body });
        let (status, delay) = script(n);
        std::thread::sleep(delay);
        let answer = format!(
            "HTTP/1.1 {status} Status\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
        );
        if stream.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
