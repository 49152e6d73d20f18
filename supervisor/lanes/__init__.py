"""The lanes: runner, bounded queue, worker pool, status writer, and the lane that joins them."""
