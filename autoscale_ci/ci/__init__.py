"""The CI runner's side: detection, each CI's log dialect, outputs, summary, state and masking."""
