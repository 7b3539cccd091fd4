"""The chaos suite's load run: the workload, the stack it runs against, and the books check."""
