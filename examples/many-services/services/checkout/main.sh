#!/bin/sh
# Stands in for the checkout service: answers on :8080 with its name.
mkdir -p /tmp/www
echo 'checkout ok' > /tmp/www/healthz
exec httpd -f -p 8080 -h /tmp/www
