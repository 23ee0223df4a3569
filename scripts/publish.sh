#!/usr/bin/env bash
# Builds Reelay's distributables into an output folder (default: artifacts):
#   OUT/packages/Reelay.Cli.<version>.nupkg     the `reelay` .NET tool (dotnet tool install -g Reelay.Cli --add-source OUT/packages)
#   OUT/packages/Reelay.Client.<version>.nupkg  the .NET SDK (net8.0 and net10.0)
#   OUT/linux-x64/reelay                        a self-contained single-file `reelay` for linux-x64 (no .NET needed)
#   the container image reelay:<version>        from Dockerfile (the single-file binary plus ffmpeg), only where docker
#                                               or podman exists (the script says so and skips it otherwise)
# Usage: scripts/publish.sh [--out DIR] [--parts tool,client,single-file,container] [--check]
#   --check  after building: installs the tool from the local package into a temporary tool path and runs
#            `reelay --help` and `reelay --version`, and runs the single-file binary's `--version`.
set -euo pipefail
cd "$(dirname "$0")/.."

out="artifacts"
parts="tool,client,single-file,container"
check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --parts) parts="$2"; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
has() { [[ ",$parts," == *",$1,"* ]]; }
quiet=(-c Release -nologo -v quiet -tl:off "-clp:ErrorsOnly;NoSummary")

if has tool; then
  echo "== the reelay tool package"
  dotnet pack src/Reelay.Cli/Reelay.Cli.csproj "${quiet[@]}" -o "$out/packages"
  ls -l "$out"/packages/Reelay.Cli.*.nupkg
fi

if has client; then
  echo "== the SDK package (net8.0, net10.0)"
  dotnet pack src/Reelay.Client/Reelay.Client.csproj "${quiet[@]}" -o "$out/packages"
  ls -l "$out"/packages/Reelay.Client.*.nupkg
fi

if has single-file; then
  echo "== self-contained single-file reelay for linux-x64"
  # IncludeNativeLibrariesForSelfExtract: SQLite's native library goes inside the one file too (extracted on first run);
  # compressed (about half the size, a little slower to start); no .pdb or .xml beside it.
  dotnet publish src/Reelay.Cli/Reelay.Cli.csproj "${quiet[@]}" -r linux-x64 --self-contained \
    -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true \
    -p:EnableCompressionInSingleFile=true -p:DebugType=none -p:PublishReferencesDocumentationFiles=false \
    -o "$out/linux-x64"
  # The bundle's name is free (the assembly inside stays Reelay.Cli, which must not be called reelay: see its csproj).
  mv -f "$out/linux-x64/Reelay.Cli" "$out/linux-x64/reelay"
  ls -l "$out/linux-x64/reelay"
fi

if has container; then
  engine=""
  for candidate in docker podman; do
    # The command alone is not enough: its daemon (docker) must answer too.
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then engine="$candidate"; break; fi
  done
  if [ -z "$engine" ]; then
    echo "== container image: skipped (no working docker or podman on this machine; see docs/operations.md, Packaging)"
  else
    echo "== container image with $engine"
    [ -x "$out/linux-x64/reelay" ] || { echo "the container image needs the single-file build: add single-file to --parts" >&2; exit 1; }
    "$engine" build -f Dockerfile -t "reelay:$(dotnet msbuild src/Reelay.Cli/Reelay.Cli.csproj -getProperty:Version)" -t reelay:latest "$out/linux-x64"
    echo "built the image reelay (run: $engine run -p 8080:8080 -v reelay-data:/data reelay)"
  fi
fi

if [ "$check" -eq 1 ]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  if has tool; then
    echo "== check: install the tool from $out/packages and run it"
    version="$(ls "$out"/packages/Reelay.Cli.*.nupkg | sed -E 's/.*Reelay\.Cli\.(.*)\.nupkg/\1/' | sort -V | tail -1)"
    dotnet tool install Reelay.Cli --version "$version" --tool-path "$scratch/tools" --add-source "$out/packages" >/dev/null
    "$scratch/tools/reelay" --version
    "$scratch/tools/reelay" --help | head -3
  fi
  if has single-file; then
    echo "== check: the single-file binary"
    "$out/linux-x64/reelay" --version
  fi
fi
