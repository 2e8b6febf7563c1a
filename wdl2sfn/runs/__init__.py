"""What a run left behind, read the same way for every backend: its status and per-call counts
(``status``, ``counter``), why it failed (``failure``), what it cost (``cost``) and the live view
fed from its history events (``progress``). Backends and the CLI import it; it imports neither."""
