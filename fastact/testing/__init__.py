"""What ``fastact check-plugin``, ``fastact verify`` and plugin test suites use: the spec checks,
the ULP measurement and the verify runner."""
