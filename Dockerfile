# The simulator's container image: `benchplan sim` alone in a FROM scratch
# image. Build it with `make image`, which first builds the static
# (CGO_ENABLED=0) bin/benchplan that this file copies.
#   docker run --rm -p 8000:8000 benchplan-sim:latest --profile phi-3.5-mini-a100-mem0.4
FROM scratch
COPY bin/benchplan /benchplan
USER 65534:65534
EXPOSE 8000
ENTRYPOINT ["/benchplan", "sim", "--addr", "0.0.0.0:8000"]
