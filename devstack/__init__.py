"""The local developer stack: everything `make dev`, `make invoke` and the tests run locally."""
