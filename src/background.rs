//! Threads for bulk work: the state database's writer, the sinks, WAL checkpoints and page
//! parsing. They run at a lower CPU priority (ten nice steps lower, and Linux's batch policy)
//! than the async runtime, whose request loop is latency-bound: each page's request waits for the
//! one before it, so every moment the loop waits for a CPU stalls the whole scan, while bulk work
//! only has to keep up on average. On a busy host (or beside the simulator on a small machine)
//! this keeps requests going out the moment the previous response has arrived, and leaves other
//! services the CPU first.

use std::io;
use std::thread::JoinHandle;

/// How much lower (in `nice` steps) a bulk thread runs than the thread that starts it.
pub const NICE_STEPS: i32 = 10;

/// Starts a named thread that lowers its own priority (by [`NICE_STEPS`], and to the batch
/// policy) before running `f`.
pub fn spawn<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<JoinHandle<T>> {
    let parent = nice();
    std::thread::Builder::new().name(name).spawn(move || {
        lower_to(parent.map(|n| n + NICE_STEPS));
        f()
    })
}

/// The calling thread's nice value (Linux gives each thread its own), if it can be read.
#[cfg(target_os = "linux")]
pub fn nice() -> Option<i32> {
    // getpriority may return -1 as a value: errno tells an error apart.
    // SAFETY: plain libc calls on the calling thread, with no pointers.
    unsafe {
        *libc::__errno_location() = 0;
        let n = libc::getpriority(libc::PRIO_PROCESS, 0);
        (*libc::__errno_location() == 0).then_some(n)
    }
}

#[cfg(not(target_os = "linux"))]
pub fn nice() -> Option<i32> {
    None
}

/// Sets the calling thread's nice value (at most 19) and, from the default policy, the batch
/// policy; failing is harmless, only slower.
#[cfg(target_os = "linux")]
fn lower_to(target: Option<i32>) {
    if let Some(n) = target {
        // SAFETY: a plain libc call on the calling thread, with no pointers.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, n.min(19)) };
    }
    // SCHED_BATCH: the scheduler treats the thread as CPU-bound and does not let its wakeups
    // preempt a running thread; only from the default policy, never above a lower one.
    // SAFETY: plain libc calls on the calling thread; `param` outlives the call.
    unsafe {
        if libc::sched_getscheduler(0) == libc::SCHED_OTHER {
            let param = libc::sched_param { sched_priority: 0 };
            libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_to(_: Option<i32>) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn policy() -> i32 {
        // SAFETY: a plain libc call on the calling thread.
        unsafe { libc::sched_getscheduler(0) }
    }

    #[test]
    fn a_bulk_thread_runs_ten_nice_steps_below_the_thread_that_started_it_as_a_batch_thread() {
        let (parent, parent_policy) = (nice().unwrap(), policy());
        let (child, child_policy) = spawn("bulk-test".into(), || (nice(), policy()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(child, Some((parent + NICE_STEPS).min(19)));
        if parent_policy == libc::SCHED_OTHER {
            assert_eq!(child_policy, libc::SCHED_BATCH);
        }
        assert_eq!(
            (nice(), policy()),
            (Some(parent), parent_policy),
            "the starting thread keeps its priority"
        );
    }
}
