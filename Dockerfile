# One image with all three binaries; docker-compose.yml picks the binary per service.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config librdkafka-dev libhiredis-dev libcpp-httplib-dev \
      libssl-dev nlohmann-json3-dev libspdlog-dev libprotobuf-dev protobuf-compiler libyaml-cpp-dev prometheus-cpp-dev \
      libgrpc++-dev libabsl-dev protobuf-compiler-grpc libevent-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DRL_BUILD_TESTS=OFF \
    && cmake --build /build -j2

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      librdkafka1 libhiredis0.14 libcpp-httplib0.11 libspdlog1.10 libprotobuf32 libyaml-cpp0.7 \
      libprometheus-cpp-core1.0 libgrpc++1.51 libabsl20220623 \
      libevent-2.1-7 libevent-core-2.1-7 libevent-pthreads-2.1-7 \
      libssl3 curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/limiter/limiter /build/gateway/gateway \
     /build/analytics-worker/analytics-worker /usr/local/bin/
# LIMITS_FILE defaults to config/limits.yaml in this folder; docker-compose.yml mounts ./config here.
WORKDIR /app
COPY config /app/config
USER nobody
CMD ["limiter"]
