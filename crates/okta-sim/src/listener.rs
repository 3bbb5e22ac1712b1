//! The simulator's TCP listener: every accepted connection gets a control handle so a request
//! handler can cut the connection mid-response (truncated body) or before any response at all
//! (dropped connection), as a failing proxy would.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Shared between a connection's IO and the handlers serving requests on it.
#[derive(Debug)]
pub struct ConnCtl {
    kill: AtomicBool,
    /// Body bytes still allowed once the response head is written; `usize::MAX` = no cut.
    cut_after: AtomicUsize,
}

/// What a handler sees of its connection (available as `ConnectInfo<ConnHandle>`).
#[derive(Debug, Clone)]
pub struct ConnHandle(pub Arc<ConnCtl>);

impl ConnHandle {
    /// Close the connection without writing the response.
    pub fn drop_connection(&self) {
        self.0.kill.store(true, Ordering::SeqCst);
    }

    /// Write the response head and `body_bytes` bytes of the body, then close.
    pub fn truncate_after(&self, body_bytes: usize) {
        self.0.cut_after.store(body_bytes, Ordering::SeqCst);
    }
}

pub struct SimListener(pub TcpListener);

impl Listener for SimListener {
    type Io = SimIo;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let ctl = Arc::new(ConnCtl {
                        kill: AtomicBool::new(false),
                        cut_after: AtomicUsize::new(usize::MAX),
                    });
                    let io = SimIo {
                        inner: stream,
                        ctl: ctl.clone(),
                        tail: 0,
                        head_done: false,
                    };
                    return (io, ConnHandle(ctl));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Err(io::Error::other(
            "the simulator listener has no single address handle",
        ))
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.remote_addr().clone()
    }
}

pub struct SimIo {
    inner: TcpStream,
    ctl: Arc<ConnCtl>,
    /// The last four bytes written, to spot the blank line that ends a response head.
    tail: u32,
    head_done: bool,
}

impl SimIo {
    /// How many of `buf` may still be written under a pending cut (None = no cut).
    fn allowance(&mut self, buf: &[u8]) -> Option<usize> {
        let budget = self.ctl.cut_after.load(Ordering::SeqCst);
        if budget == usize::MAX {
            return None;
        }
        let mut n = 0;
        while n < buf.len() && !self.head_done {
            self.tail = (self.tail << 8) | buf[n] as u32;
            self.head_done = self.tail == u32::from_be_bytes(*b"\r\n\r\n");
            n += 1;
        }
        let body = (buf.len() - n).min(budget);
        if self.head_done {
            self.ctl.cut_after.store(budget - body, Ordering::SeqCst);
            if budget - body == 0 {
                self.ctl.kill.store(true, Ordering::SeqCst);
            }
        }
        Some(n + body)
    }
}

impl AsyncRead for SimIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.ctl.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "connection cut",
            )));
        }
        let allowed = self.allowance(buf).unwrap_or(buf.len());
        if allowed == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "connection cut",
            )));
        }
        Pin::new(&mut self.inner).poll_write(cx, &buf[..allowed])
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
