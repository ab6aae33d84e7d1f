"""Sales channels: where orders come from and where shipments are confirmed (Taobao, Pinduoduo, the
shop's own). Each channel's wire format is a pure protocol module apart from its HTTP client."""
