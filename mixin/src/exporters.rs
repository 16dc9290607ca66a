//! Metric lists of the exporters the stack ships, checked in under `mixin/exporters/`.
