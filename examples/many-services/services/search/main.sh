#!/bin/sh
# Stands in for the search service: answers on :8080 with its name.
mkdir -p /tmp/www
echo 'search ok' > /tmp/www/healthz
exec httpd -f -p 8080 -h /tmp/www
