"""Moving objects between stores: worker pool, retries, push and fetch engines."""
