//! What machine the figures come from: CPU model, cores, memory and OS, read from /proc and /etc.

/// The machine's description, one line each.
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub ram_mib: u64,
    pub os: String,
    pub kernel: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let ram_kib: u64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let os = std::fs::read_to_string("/etc/os-release")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| std::env::consts::OS.into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
        Machine { cpu, cores, ram_mib: ram_kib / 1024, os, kernel }
    }

    pub fn describe(&self) -> String {
        format!(
            "- CPU: {} ({} cores available)\n- RAM: {:.1} GiB\n- OS: {}, Linux {}\n",
            self.cpu,
            self.cores,
            self.ram_mib as f64 / 1024.0,
            self.os,
            self.kernel
        )
    }
}
