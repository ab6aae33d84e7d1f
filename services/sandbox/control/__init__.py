"""Control endpoints: set the world up, inspect it, and turn faults on. No auth: it is a sandbox."""
