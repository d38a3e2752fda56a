#!/bin/bash
# The user data of a feature environment's EC2 instance (action-feature-env, `isolation: ec2`),
# started from the "Minikube Service" image (Minikube, the ingress addon, kubectl, the AWS CLI, the
# latest image of every service cached). The action sends this file as it is, after a prologue of
# its own that sets, shell-quoted:
#   C2C_REGION     the AWS region (for the SSM parameter)
#   C2C_PARAMETER  the SecureString SSM parameter to publish the cluster's kubeconfig at
#   C2C_IMAGES     the images under test, one per line (pulled, then loaded into Minikube)
#   C2C_ECR        optional: the ECR registry to log in to first (host), with the instance profile
# It starts Minikube with the ingress addon and the dashboard, points the log viewer at the pods'
# containers, pulls and loads the images under test,
# and publishes a kubeconfig for the API server at the instance's private address. The action waits
# for the parameter and for that API server, then deploys. Every step says what it does, in the
# instance's console log; a step that fails stops the script (the action times out and says so).
set -euo pipefail

: "${C2C_REGION:?the action sets C2C_REGION}"
: "${C2C_PARAMETER:?the action sets C2C_PARAMETER}"
C2C_IMAGES="${C2C_IMAGES:-}"
C2C_ECR="${C2C_ECR:-}"
export HOME="${HOME:-/root}"

log() { printf 'c2c-user-data: %s\n' "$*"; }

# The instance's private address, from the instance metadata service (IMDSv2: a session token first).
imds() {
  local token
  token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -fsS -H "X-aws-ec2-metadata-token: ${token}" "http://169.254.169.254/latest/meta-data/$1"
}
address=$(imds local-ipv4)
log "private address ${address}"

if [ -n "${C2C_ECR}" ]; then
  log "logging in to ${C2C_ECR} with the instance profile"
  aws ecr get-login-password --region "${C2C_REGION}" | docker login --username AWS --password-stdin "${C2C_ECR}"
fi

# The ports the environment's security group opens (to allow-cidrs only), published on the instance:
# 80 and 443 the ingress controller, 8443 the API server, 30090 the dashboard (a NodePort below).
log 'starting Minikube (ingress, dashboard)'
minikube start --driver=docker --addons=ingress --addons=dashboard \
  --apiserver-ips="${address}" --listen-address=0.0.0.0 --embed-certs \
  --ports=80:80,443:443,8443:8443,30090:30090
log 'exposing the Kubernetes dashboard on port 30090'
kubectl -n kubernetes-dashboard patch service kubernetes-dashboard --type=merge \
  -p '{"spec":{"type":"NodePort","ports":[{"port":80,"targetPort":9090,"nodePort":30090}]}}' >/dev/null

# The log viewer (Dozzle, cached in the image) reads the containers of Minikube's own Docker (where
# the pods run with the docker driver), over its TLS port with Minikube's client certificates, on
# Minikube's network; published on 9999.
log "the log viewer on port 9999 (the pods' containers)"
docker rm -f c2c-logs >/dev/null 2>&1 || true
docker run -d --name c2c-logs --restart always --network minikube -p 9999:8080 \
  -v "${HOME}/.minikube/certs:/certs:ro" amir20/dozzle:latest \
  --remote-host "tcp://$(minikube ip):2376" >/dev/null

# The images under test (the others are cached in the image already).
while IFS= read -r image; do
  [ -n "${image}" ] || continue
  log "pulling ${image}"
  # Not from the loop's input: a command that reads stdin would eat the rest of the list.
  docker pull "${image}" </dev/null
  minikube image load "${image}" </dev/null
done <<<"${C2C_IMAGES}"

# The kubeconfig, its server the private address and the published port 8443 (reachable from the
# runner's network, through the security group), written to
# a file only root reads and sent as a file: the credentials are never on a command line.
umask 077
kubeconfig=$(mktemp)
trap 'rm -f "${kubeconfig}"' EXIT
kubectl config view --raw --flatten --minify |
  sed -E "s#server: https://[^[:space:]]+#server: https://${address}:8443#" >"${kubeconfig}"
log "publishing the kubeconfig at SSM parameter ${C2C_PARAMETER}"
aws ssm put-parameter --region "${C2C_REGION}" --name "${C2C_PARAMETER}" --type SecureString \
  --overwrite --value "file://${kubeconfig}" >/dev/null
log 'ready'
