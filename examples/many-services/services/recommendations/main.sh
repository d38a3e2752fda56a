#!/bin/sh
# Stands in for the recommendations service: answers on :8080 with its name.
mkdir -p /tmp/www
echo 'recommendations ok' > /tmp/www/healthz
exec httpd -f -p 8080 -h /tmp/www
