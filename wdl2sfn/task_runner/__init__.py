"""Run-time steps around each Batch job: init, prepare, collect, eval, finalize, upload.

All WDL evaluation at run time happens here, through miniwdl. See handlers.Runtime.
"""
