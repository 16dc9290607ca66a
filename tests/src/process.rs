//! Real programs as test fixtures: free loopback ports, processes killed on drop, the SDK demo.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (bound, then released for the program that will listen on it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("binding 127.0.0.1:0")
        .local_addr()
        .expect("local address")
        .port()
}

/// `127.0.0.1:<a free port>`.
pub fn free_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// A running program; killed (and reaped) on drop. Its stdout and stderr go to a log file,
/// shown by [`Proc::log`] when a test fails.
pub struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// Starts `program` with `args` and `env` added to the environment; output goes to
    /// `<log_dir>/<name>.log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, String)],
        log_dir: &Path,
    ) -> Proc {
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("creating the log file");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} ({}): {e}", program.display()));
        Proc {
            name: name.into(),
            child: Some(child),
            log,
        }
    }

    /// The program's output so far (its last 40 lines).
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- {} ({}):\n{tail}", self.name, self.log.display())
    }

    /// Path of the log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Panics with the log when the program has exited.
    pub fn assert_running(&mut self) {
        if let Some(child) = &mut self.child
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!("{} exited ({status}):\n{}", self.name, self.log());
        }
    }

    /// Kills the program now and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until something accepts TCP connections on `addr`; panics with `proc`'s log after
/// `timeout`.
pub fn wait_for_port(addr: &str, timeout: Duration, proc: &mut Proc) {
    let sock: SocketAddr = addr.parse().expect("an IP:port address");
    let start = Instant::now();
    while TcpStream::connect_timeout(&sock, Duration::from_millis(200)).is_err() {
        proc.assert_running();
        assert!(
            start.elapsed() < timeout,
            "nothing listens on {addr} after {timeout:?}:\n{}",
            proc.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The SDK's demo example (`target/<profile>/examples/demo`), built with `--all-features`.
///
/// Always built (cargo only relinks when it is up to date): `cargo run -p obs-service --example
/// demo` leaves a demo without the exporters at the same path, which the tests must not pick up.
pub fn demo_binary() -> PathBuf {
    example_binary("demo")
}

/// The SDK's example `name` (`target/<profile>/examples/<name>`), built with `--all-features`,
/// as [`demo_binary`] builds the demo.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let binary = target
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "obs-service",
            "--example",
            name,
            "--all-features",
        ])
        .status()
        .unwrap_or_else(|e| panic!("running cargo build --example {name}: {e}"));
    assert!(status.success(), "building the {name} example failed");
    binary
}

/// Starts the demo on a free loopback port (`DEMO_ADDR=127.0.0.1:0`) and returns it with the
/// address it logged in its `{"message":"listening","addr":…}` line. `env` is added to its
/// environment. With `address_space_limit` (bytes) the demo runs under `ulimit -v`, so
/// `process_virtual_memory_max_bytes` has a value.
pub fn start_demo(
    name: &str,
    env: &[(&str, String)],
    address_space_limit: Option<u64>,
    log_dir: &Path,
) -> (Proc, String) {
    start_example("demo", name, env, address_space_limit, log_dir)
}

/// [`start_demo`] for the SDK's example `example` (`demo` or `actix`): both serve the same
/// routes and log the same `listening` line.
pub fn start_example(
    example: &str,
    name: &str,
    env: &[(&str, String)],
    address_space_limit: Option<u64>,
    log_dir: &Path,
) -> (Proc, String) {
    let demo = example_binary(example);
    let mut env = env.to_vec();
    env.push(("DEMO_ADDR", "127.0.0.1:0".into()));
    let mut proc = match address_space_limit {
        // `exec` keeps the pid, so killing the Proc kills the demo.
        Some(bytes) => Proc::spawn(
            name,
            Path::new("/bin/sh"),
            &[
                "-c".into(),
                format!("ulimit -v {} && exec \"$0\"", bytes / 1024),
                demo.display().to_string(),
            ],
            &env,
            log_dir,
        ),
        None => Proc::spawn(name, &demo, &[], &env, log_dir),
    };
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(proc.log_path()).unwrap_or_default();
        let addr = text.lines().find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["message"] == "listening")
                .then(|| v["addr"].as_str().map(str::to_owned))
                .flatten()
        });
        if let Some(addr) = addr {
            return (proc, addr);
        }
        proc.assert_running();
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{name} did not log its address:\n{}",
            proc.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
