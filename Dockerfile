# The Reelay gateway as a container: the self-contained single-file reelay plus ffmpeg (for the sandbox renderer and
# result checks). Build context: the single-file output, which scripts/publish.sh makes first:
#   scripts/publish.sh --parts single-file,container        (or by hand:)
#   docker build -f Dockerfile -t reelay artifacts/linux-x64
#   docker run -p 8080:8080 -v reelay-data:/data -e REELAY_ADMIN_KEY=... reelay
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data && chown app:app /data
COPY --chmod=755 reelay /usr/local/bin/reelay
USER app
WORKDIR /data
VOLUME /data
EXPOSE 8080
# reelay serve drains on SIGTERM (Reelay:Shutdown:DrainTimeout, 25 s by default): give `docker stop -t` a little more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["reelay"]
CMD ["serve", "--urls", "http://0.0.0.0:8080", "--data", "/data"]
