"""Background tasks (SAQ): the queue, the tenant-aware task wrapper, and the worker's task list."""
