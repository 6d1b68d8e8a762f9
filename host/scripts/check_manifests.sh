#!/bin/sh
# check_manifests.sh -- `make test-host-manifests` (part of make check): the
# deployment kit of agentrecoverd is consistent without a cluster or a
# Docker engine.  The checks live in tests/ops/check_manifests.py: every
# YAML under examples/kubernetes parses, the base and hpa kustomizations
# build (in Python, and with kubectl kustomize where it is installed) into
# objects that follow the README's advice (restricted Pod Security, three
# independent persistent Redis masters named by REDIS_ADDRS, pod leases,
# topology spread, Telegram and trading settings, scraping, the
# PrometheusRule equal to the plain rules file, the HPA without a fixed
# replica count); the Dockerfile always builds from source and
# .dockerignore keeps build output out of the image context.
set -eu
cd "$(dirname "$0")/../.."
exec python3 tests/ops/check_manifests.py
