# Stand-in for redis:7-bookworm where no registry is reachable: Debian bookworm's redis-server (7.0) on
# the local node:20-bookworm-slim stand-in, run like the official image (all addresses, protected mode
# off, data in /data). Built by build-base.sh.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/* \
 && install -d -o redis -g redis /data
WORKDIR /data
VOLUME /data
EXPOSE 6379
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER redis
ENTRYPOINT ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["redis-server"]
