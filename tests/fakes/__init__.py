"""In-memory fakes of the typed clients of our services (runtime.apis), for unit tests without servers."""
