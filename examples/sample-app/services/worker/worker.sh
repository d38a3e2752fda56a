#!/bin/sh
# Stands in for a queue consumer: one line per "job".
n=0
while true; do
  n=$((n + 1))
  echo "worker: processed job $n (deps in $APP_DEPS)"
  sleep 5
done
