"""The marketplace (Taobao Open Platform style): the signed gateway, trades, offline send and order messages."""
