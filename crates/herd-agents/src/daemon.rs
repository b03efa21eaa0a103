//! Runs a daemon in the foreground, detached from whoever started it, tracked by a pid file.
//!
//! The daemon gets its own session (so it outlives a one-shot `herd ra exec` and can be
//! signalled as a process group), stdin from /dev/null and stdout/stderr appended to
//! `daemon.log`, all in the resource's runtime directory next to `daemon.pid`. Stopping reads
//! the pid file: SIGTERM to the group, then SIGKILL when the budget is spent. A pid is only
//! believed when /proc says that process is alive (not a zombie) and runs the expected binary.
//! I/O: processes, signals, /proc and files in the runtime directory.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;

const POLL: Duration = Duration::from_millis(25);
const LOG_TAIL_BYTES: u64 = 2048;
/// daemon.log is copied to daemon.log.1 and emptied past this size (runtime directories
/// usually live on tmpfs, i.e. in RAM).
pub(crate) const LOG_BYTES_MAX: u64 = 8 * 1024 * 1024;

/// A daemon's files inside one runtime directory.
#[derive(Debug, Clone)]
pub(crate) struct Daemon {
    /// The executable, e.g. /usr/sbin/haproxy.
    pub(crate) binary: PathBuf,
    pub(crate) runtime_dir: PathBuf,
}

impl Daemon {
    pub(crate) fn new(binary: &Path, runtime_dir: &Path) -> Self {
        Self {
            binary: binary.to_path_buf(),
            runtime_dir: runtime_dir.to_path_buf(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.runtime_dir.join(name)
    }

    pub(crate) fn pid_file(&self) -> PathBuf {
        self.path("daemon.pid")
    }

    pub(crate) fn log_file(&self) -> PathBuf {
        self.path("daemon.log")
    }

    /// Creates the runtime directory (mode 0700) when missing.
    pub(crate) fn prepare(&self) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.runtime_dir)
    }

    /// The pid of the running daemon, if the pid file names a live process of our binary.
    pub(crate) fn running_pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.pid_file()).ok()?;
        let pid: i32 = text.trim().parse().ok().filter(|&pid| pid > 1)?;
        (alive(pid) && runs_binary(pid, &self.binary)).then_some(pid)
    }

    /// Starts the daemon with `args` in a new session; returns its pid (also in the pid file).
    pub(crate) fn spawn(&self, args: &[String]) -> io::Result<i32> {
        self.prepare()?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        fs::set_permissions(self.log_file(), fs::Permissions::from_mode(0o600))?;
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(args)
            .current_dir(&self.runtime_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(false);
        crate::sys::new_session(&mut command);
        let child = command.spawn()?;
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .ok_or_else(|| io::Error::other("the child exited before its pid was read"))?;
        // Dropping the handle leaves the child running; tokio reaps it if it exits while we live.
        drop(child);
        fs::write(self.pid_file(), format!("{pid}\n"))?;
        Ok(pid)
    }

    /// Stops the daemon: SIGTERM to its process group, SIGKILL once `budget` is spent.
    /// Ok(false) when it was not running.
    pub(crate) async fn stop(&self, budget: Duration) -> Result<bool, String> {
        let Some(pid) = self.running_pid() else {
            let _ = fs::remove_file(self.pid_file());
            return Ok(false);
        };
        signal_group(pid, Signal::SIGTERM);
        let deadline = Instant::now() + budget;
        while Instant::now() < deadline {
            if !alive(pid) {
                let _ = fs::remove_file(self.pid_file());
                return Ok(true);
            }
            tokio::time::sleep(POLL).await;
        }
        let binary = self.binary.display();
        tracing::warn!(pid, %binary, "daemon ignored SIGTERM, sending SIGKILL");
        signal_group(pid, Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if !alive(pid) {
                let _ = fs::remove_file(self.pid_file());
                return Ok(true);
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!("process {pid} survived SIGKILL"))
    }

    /// Copies daemon.log to daemon.log.1 and empties it when it is larger than `max_bytes`.
    /// The daemon writes with O_APPEND, so it goes on at the new end. Returns whether it did.
    pub(crate) fn rotate_log(&self, max_bytes: u64) -> io::Result<bool> {
        let log = self.log_file();
        match fs::metadata(&log) {
            Ok(meta) if meta.len() > max_bytes => {
                fs::copy(&log, self.path("daemon.log.1"))?;
                fs::OpenOptions::new().write(true).open(&log)?.set_len(0)?;
                Ok(true)
            }
            Ok(_) => Ok(false),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The last lines of the daemon's log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        let read = || -> io::Result<String> {
            let mut file = fs::File::open(self.log_file())?;
            let len = file.metadata()?.len();
            file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        let text = read().unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }
}

/// Sends `signal` to process `pid` only (not its group).
pub(crate) fn signal(pid: i32, signal: Signal) -> bool {
    kill(Pid::from_raw(pid), signal).is_ok()
}

fn signal_group(pid: i32, signal: Signal) {
    if killpg(Pid::from_raw(pid), signal).is_err() {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// Whether `pid` exists and is not a zombie.
pub(crate) fn alive(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Format: "pid (comm) S ...": the state follows the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z') | Some('X'))
}

/// Whether `pid`'s argv[0] names the same file as `binary`.
fn runs_binary(pid: i32, binary: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let argv0 = Path::new(std::str::from_utf8(argv0).unwrap_or_default());
    argv0.file_name().is_some() && argv0.file_name() == binary.file_name()
}

/// A digest of a file's content, to notice a changed config file.
pub(crate) fn file_digest(path: &Path) -> io::Result<String> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let bytes = fs::read(path)?;
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    Ok(format!("{:016x}-{}", hasher.finish(), bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_free_pid_is_not() {
        assert!(alive(std::process::id() as i32));
        assert!(!alive(i32::MAX - 1));
    }

    #[tokio::test]
    async fn daemon_ignoring_sigterm_is_killed_when_the_budget_is_spent() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon::new(Path::new("/bin/sh"), dir.path());
        let script = "trap '' TERM; while :; do sleep 0.05; done".to_string();
        let pid = daemon.spawn(&["-c".to_string(), script]).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(daemon.running_pid(), Some(pid));
        let started = Instant::now();
        assert_eq!(daemon.stop(Duration::from_millis(300)).await, Ok(true));
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "TERM was ignored, KILL came after the budget"
        );
        assert!(!alive(pid));
        assert_eq!(daemon.running_pid(), None);
        assert_eq!(
            daemon.stop(Duration::from_millis(300)).await,
            Ok(false),
            "stopping again is fine"
        );
    }

    #[test]
    fn big_log_is_copied_aside_and_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon::new(Path::new("/bin/sh"), dir.path());
        fs::write(daemon.log_file(), "x".repeat(100)).unwrap();
        assert!(!daemon.rotate_log(100).unwrap());
        fs::write(daemon.log_file(), "y".repeat(101)).unwrap();
        assert!(daemon.rotate_log(100).unwrap());
        assert_eq!(fs::metadata(daemon.log_file()).unwrap().len(), 0);
        assert_eq!(
            fs::read_to_string(dir.path().join("daemon.log.1"))
                .unwrap()
                .len(),
            101
        );
    }

    #[test]
    fn stale_pid_file_of_another_binary_is_not_believed() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon::new(Path::new("/usr/sbin/haproxy"), dir.path());
        fs::write(daemon.pid_file(), format!("{}\n", std::process::id())).unwrap();
        assert_eq!(daemon.running_pid(), None, "our test binary is not haproxy");
    }
}
