#!/bin/sh
# Stands in for the payments service: answers on :8080 with its name.
mkdir -p /tmp/www
echo 'payments ok' > /tmp/www/healthz
exec httpd -f -p 8080 -h /tmp/www
