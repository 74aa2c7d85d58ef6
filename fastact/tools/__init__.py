"""fastact's tools on top of the library: the CLI and what its commands run (benchmarks and their
baselines, compare, plot, the plugin tools, text tables)."""
