# Extracts OpenAI's video API from openapi.json of github.com/openai/openai-openapi: every path under /videos (all
# their operations, unchanged except that x-oaiMeta is left out), every component schema those operations reference,
# followed transitively, and ErrorResponse (OpenAI's error envelope). Run in this folder, with a clone of that
# repository at the commit to vendor (see README.md):
#
#   jq --arg commit "$(git -C <clone> rev-parse HEAD)" -f extract-openai-videos.jq <clone>/openapi.json > openai-videos.openapi.json
. as $doc
| def refs: [.. | objects | .["$ref"]? // empty | select(startswith("#/components/schemas/")) | ltrimstr("#/components/schemas/")] | unique;
  def closure($seen):
    ([$seen[] as $name | $doc.components.schemas[$name] | refs[]] | unique) as $next
    | ($seen + $next | unique) as $all
    | if $all == $seen then $seen else closure($all) end;
  ($doc.paths | with_entries(select(.key | test("^/videos(/|$)"))) | map_values(map_values(del(."x-oaiMeta")))) as $paths
| ((($paths | refs) + ["ErrorResponse"] | unique) | closure(.)) as $names
| {
    openapi: $doc.openapi,
    info: {
      title: $doc.info.title,
      version: $doc.info.version,
      description: "An excerpt of OpenAI's published OpenAPI document (github.com/openai/openai-openapi, openapi.json at commit \($commit)): every /videos operation and the schemas they reference, plus ErrorResponse. Unchanged except that x-oaiMeta (code samples) is left out. MIT licence, Copyright (c) OpenAI; see LICENSE-openai-openapi.txt beside this file."
    },
    servers: $doc.servers,
    paths: $paths,
    components: { schemas: ($doc.components.schemas | with_entries(select(.key as $k | $names | index($k)))) }
  }
