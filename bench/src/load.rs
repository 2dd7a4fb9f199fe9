//! The load generator: `concurrency` keep-alive HTTP/1.1 connections sending GraphQL requests
//! for a fixed time, every latency recorded. Runs in this process, the server in another, so
//! the server's two cores are not also generating load... except that on a two-core machine
//! they share the cores; the figures say so.
//!
//! Two paces: closed loop (each connection sends its next request when the last is answered:
//! the most the server can do) and a fixed rate (open loop: requests are due on a schedule
//! whatever the server does, and a latency counts from when the request was due, so a stall
//! shows in the percentiles instead of silently lowering the rate).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What one connection sends: the body of its `i`th request.
pub type Body = dyn Fn(usize, usize) -> String + Send + Sync;

/// When requests are sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Each connection sends again as soon as it has its answer.
    ClosedLoop,
    /// This many requests per second in all, spread evenly over the connections.
    Rate(f64),
}

/// Latencies and failures of one load run.
#[derive(Debug, Clone)]
pub struct LoadResult {
    pub concurrency: usize,
    pub elapsed: Duration,
    /// Every successful request's latency, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    pub failures: u64,
    pub first_failure: Option<String>,
}

impl LoadResult {
    pub fn requests_per_second(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The nearest-rank percentile in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64)
            .ceil()
            .max(1.0) as usize;
        self.latencies_us[rank.min(self.latencies_us.len()) - 1] as f64 / 1000.0
    }
}

/// Sends requests from `concurrency` connections for `warmup + measure`, counting only those
/// that start after the warm-up.
pub async fn run(
    addr: SocketAddr,
    token: &str,
    concurrency: usize,
    pace: Pace,
    warmup: Duration,
    measure: Duration,
    body: std::sync::Arc<Body>,
) -> anyhow::Result<LoadResult> {
    let started = Instant::now();
    let measure_from = started + warmup;
    let deadline = measure_from + measure;
    let mut workers = Vec::new();
    for connection in 0..concurrency {
        let body = body.clone();
        let token = format!("Bearer {token}");
        // Each connection's schedule is offset by its share of the interval, so the requests
        // of all connections together arrive evenly rather than in bursts.
        let schedule = match pace {
            Pace::ClosedLoop => None,
            Pace::Rate(rate) => {
                let interval = Duration::from_secs_f64(concurrency as f64 / rate);
                Some((
                    started + interval.mul_f64(connection as f64 / concurrency as f64),
                    interval,
                ))
            }
        };
        workers.push(tokio::spawn(async move {
            connection_loop(
                addr,
                token,
                connection,
                schedule,
                measure_from,
                deadline,
                body,
            )
            .await
        }));
    }
    let mut latencies_us = Vec::new();
    let mut failures = 0;
    let mut first_failure = None;
    let mut finished = deadline;
    for worker in workers {
        let connection = worker.await??;
        latencies_us.extend(connection.latencies_us);
        failures += connection.failures;
        first_failure = first_failure.or(connection.first_failure);
        finished = finished.max(connection.last_answered.unwrap_or(deadline));
    }
    latencies_us.sort_unstable();
    Ok(LoadResult {
        concurrency,
        // A server behind schedule answers the measured requests after the deadline: the
        // rate is over the time it took. A closed loop's requests started before the window
        // are not counted, so neither is the time its last ones run past it.
        elapsed: match pace {
            Pace::ClosedLoop => measure,
            Pace::Rate(_) => finished - measure_from,
        },
        latencies_us,
        failures,
        first_failure,
    })
}

type Connection = http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Connection> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn connection_loop(
    addr: SocketAddr,
    token: String,
    connection: usize,
    schedule: Option<(Instant, Duration)>,
    measure_from: Instant,
    deadline: Instant,
    body: std::sync::Arc<Body>,
) -> anyhow::Result<ConnectionFigures> {
    let mut sender = connect(addr).await?;
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut first_failure = None;
    let mut last_answered = None;
    let mut i = 0;
    // On a schedule every request due before the deadline is sent, however late, until one
    // more measuring time has passed; a server that falls behind then shows as latency and
    // as requests never sent, not as an empty window.
    let give_up = deadline + (deadline - measure_from);
    let due = |i: usize| schedule.map(|(first, interval)| first + interval.mul_f64(i as f64));
    loop {
        match due(i) {
            None if Instant::now() >= deadline => break,
            Some(at) if at >= deadline => break,
            Some(_) if Instant::now() >= give_up => {
                let unsent = (i..)
                    .map_while(|later| due(later).filter(|at| *at < deadline))
                    .filter(|at| *at >= measure_from)
                    .count() as u64;
                if unsent > 0 {
                    failures += unsent;
                    first_failure.get_or_insert_with(|| {
                        format!("{unsent} requests due in the measured time were not sent: the server fell behind")
                    });
                }
                break;
            }
            _ => {}
        }
        let request = Request::post("/graphql")
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .header("authorization", &token)
            .body(Full::new(Bytes::from(body(connection, i))))?;
        let sent = match due(i) {
            None => Instant::now(),
            Some(at) => {
                tokio::time::sleep_until(at.into()).await;
                at
            }
        };
        i += 1;
        let outcome = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, bytes))
        }
        .await;
        let took = sent.elapsed();
        let ok = match &outcome {
            Ok((status, bytes)) => {
                status.is_success() && !bytes.windows(9).any(|w| w == b"\"errors\":")
            }
            Err(_) => false,
        };
        let broken = outcome.is_err();
        if sent >= measure_from {
            last_answered = Some(Instant::now());
            if ok {
                latencies.push(took.as_micros() as u64);
            } else {
                failures += 1;
                if first_failure.is_none() {
                    first_failure = Some(match outcome {
                        Ok((status, bytes)) => {
                            format!("{status}: {}", String::from_utf8_lossy(&bytes))
                        }
                        Err(e) => e.to_string(),
                    });
                }
            }
        }
        if broken {
            sender = connect(addr).await?;
        }
    }
    Ok(ConnectionFigures {
        latencies_us: latencies,
        failures,
        first_failure,
        last_answered,
    })
}

/// What one connection saw of the measured requests.
struct ConnectionFigures {
    latencies_us: Vec<u64>,
    failures: u64,
    first_failure: Option<String>,
    last_answered: Option<Instant>,
}

/// One request, on a connection of its own: its status, body and how long it took.
pub async fn post_once(
    addr: SocketAddr,
    token: &str,
    path: &str,
    content_type: &str,
    body: String,
) -> anyhow::Result<(hyper::StatusCode, Bytes, Duration)> {
    let mut sender = connect(addr).await?;
    let request = Request::post(path)
        .header("host", addr.to_string())
        .header("content-type", content_type)
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::from(body)))?;
    let sent = Instant::now();
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, bytes, sent.elapsed()))
}
