"""What the service computes from stored data: the rollup pyramid, analytics queries, alert rules,
retention."""
