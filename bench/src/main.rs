//! `doorstep-bench`: the benchmark program (see BENCHMARKS.md).

fn main() {
    println!("doorstep-bench: scenarios follow");
}
