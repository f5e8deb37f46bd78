"""Every byte that touches disk: one codec module per file format (see ARCHITECTURE.md section 4)."""
