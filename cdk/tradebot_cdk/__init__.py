"""The CDK app that deploys the trading bot: one stack built from the route table."""
