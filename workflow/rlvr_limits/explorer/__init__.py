"""The per-problem explorer of a comparison: `data` chooses what the page shows (bounded at any scale),
`page` renders it as one offline HTML file, `stage` is `python -m rlvr_limits explore`."""
