//! Partitions between network-namespace hosts (to come).
