"""Device contract, protocol codecs (bytes <-> samples) and pyserial transports.

Imports only core."""
