using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Reelay.Jobs;
using Reelay.Media;

namespace Reelay.Providers.Sandbox;

/// <summary>What the sandbox renders for one job.</summary>
/// <param name="Mode">Title card (text) or pan and zoom (image).</param>
/// <param name="Width">Output width (even).</param>
/// <param name="Height">Output height (even).</param>
/// <param name="DurationSeconds">Output length.</param>
/// <param name="Seed">Drives colours and motion.</param>
/// <param name="Prompt">The prompt shown on the title card.</param>
/// <param name="StandInFor">The model the sandbox stands in for, or null.</param>
/// <param name="ImageFile">The first frame's file name in the render's folder, for image-to-video.</param>
/// <param name="SourceFile">For an edit: the source video's file name in the render's folder; the prompt is drawn over its frames.</param>
/// <param name="Characters">Character names shown on the card, or null.</param>
/// <param name="LastFrameFile">The last frame's file name in the render's folder (first+last frame): the pan and zoom fades into it, and the closing frames show it.</param>
/// <param name="ReferenceFiles">The reference images' file names in the render's folder: shown as a row of thumbnails.</param>
internal sealed record RenderSpec(VideoMode Mode, int Width, int Height, int DurationSeconds, ulong Seed, string? Prompt, string? StandInFor, string? ImageFile, string? SourceFile = null, string? Characters = null, string? LastFrameFile = null, IReadOnlyList<string>? ReferenceFiles = null)
{
    /// <summary>The seed of a job: its own, else a stable hash of the parameters that shape the video.</summary>
    public static ulong SeedOf(Job job)
    {
        if (job.Seed is { } seed)
        {
            return unchecked((ulong)seed);
        }

        var text = string.Join('\u001f', job.Mode.ToWire(), job.Width.ToString(CultureInfo.InvariantCulture), job.Height.ToString(CultureInfo.InvariantCulture), job.DurationSeconds.ToString(CultureInfo.InvariantCulture), job.Prompt ?? string.Empty);
        return BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0);
    }
}

/// <summary>
/// Builds and runs the sandbox's ffmpeg command: an animated title card of the prompt, or a pan and zoom over the
/// first frame, both with a "Reelay sandbox — not AI" caption, a timer and a progress bar. Byte-identical output for
/// the same spec: bit-exact flags, no metadata, a fixed encoder thread count and nothing that depends on the clock.
/// All text reaches ffmpeg through files in the render folder (drawtext <c>textfile=</c>), never through the graph.
/// </summary>
internal sealed class SandboxRenderer
{
    /// <summary>x264 threads; fixed because x264's output depends on its thread count.</summary>
    public const int EncoderThreads = 2;

    /// <summary>The caption every sandbox video carries.</summary>
    public const string Caption = "Reelay sandbox — not AI";

    private static readonly string[] FontCandidates =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/ttf-dejavu/DejaVuSans.ttf",
    ];

    private readonly SandboxOptions _options;
    private readonly FfmpegRunner _runner;
    private readonly string? _fontFile;

    public SandboxRenderer(SandboxOptions options, FfmpegRunner runner, string? fontFile)
    {
        _options = options;
        _runner = runner;
        _fontFile = fontFile;
    }

    /// <summary>DejaVu Sans if installed (package fonts-dejavu-core), else null: drawtext then asks fontconfig.</summary>
    public static string? FindFont()
    {
        foreach (var candidate in FontCandidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        try
        {
            return Directory.Exists("/usr/share/fonts")
                ? Directory.EnumerateFiles("/usr/share/fonts", "DejaVuSans.ttf", SearchOption.AllDirectories).FirstOrDefault()
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Renders <paramref name="spec"/> into <paramref name="outputPath"/> (an MP4 whatever its extension), using
    /// <paramref name="folder"/> for the text files; the first frame must already be there.
    /// </summary>
    public async Task RenderAsync(RenderSpec spec, string folder, string outputPath, IProgress<FfmpegProgress>? progress, Action<Process>? started, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var arguments = BuildArguments(spec, files, Path.GetRelativePath(folder, outputPath));
        foreach (var (name, text) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(folder, name), text, cancellationToken).ConfigureAwait(false);
        }

        await _runner.RunFfmpegAsync(arguments, progress, folder, started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The ffmpeg arguments for <paramref name="spec"/>; <paramref name="files"/> receives the text files (name → content) they read.</summary>
    internal List<string> BuildArguments(RenderSpec spec, Dictionary<string, string> files, string outputFile)
    {
        var random = new SplitMix64(spec.Seed);
        var fps = _options.Fps;
        var frames = spec.DurationSeconds * fps;
        var arguments = new List<string>();
        string graph;
        if (spec.SourceFile is null && (spec.LastFrameFile is not null || spec.ReferenceFiles is { Count: > 0 }))
        {
            graph = WithExtraInputs(spec, random, frames, arguments, files);
        }
        else if (spec.SourceFile is { } sourceFile)
        {
            // An edit: the source's own frames, fitted to the output, with the prompt drawn over them.
            arguments.AddRange(["-i", "file:" + sourceFile]);
            graph = $"[0:v]scale={spec.Width}:{spec.Height},setsar=1,fps={fps},tpad=stop_mode=clone:stop_duration={Int(spec.DurationSeconds)}," + TitleText(spec, files) + ",";
        }
        else if (spec.Mode == VideoMode.ImageToVideo)
        {
            arguments.AddRange(["-i", "file:" + (spec.ImageFile ?? throw new ArgumentException("Image-to-video needs a first frame.", nameof(spec)))]);
            graph = "[0:v]" + KenBurns(spec, random, frames) + ",";
        }
        else
        {
            graph = TitleBackground(spec, random) + "," + TitleText(spec, files) + ",";
        }

        graph += Chrome(spec, files);
        arguments.AddRange(
        [
            "-filter_complex", graph,
            "-map", "[v]",
            "-frames:v", Int(frames),
            .. EncodeTo(outputFile),
        ]);
        return arguments;
    }

    // The H.264 MP4 encode every render ends with: bit-exact and without metadata (the same input gives the same bytes),
    // the index in front for streaming.
    private string[] EncodeTo(string outputFile) =>
    [
        "-c:v", "libx264",
        "-preset", _options.Preset,
        "-pix_fmt", "yuv420p",
        "-threads", Int(EncoderThreads),
        "-fflags", "+bitexact",
        "-flags:v", "+bitexact",
        "-map_metadata", "-1",
        "-movflags", "+faststart",
        "-f", "mp4",
        "-y", "file:" + outputFile,
    ];

    // The first+last frame and reference-image renders, honest about what they are (not AI): the pan and zoom over the
    // first frame cross-fades into the last frame between half and three quarters of the length, so the closing quarter
    // shows the last frame; reference images are a row of thumbnails on the title card (or over the pan and zoom).
    // Each still image is a looped input (-loop 1) at the output frame rate; the graph ends where Chrome continues.
    private string WithExtraInputs(RenderSpec spec, SplitMix64 random, int frames, List<string> arguments, Dictionary<string, string> files)
    {
        int w = spec.Width, h = spec.Height;
        var fps = Int(_options.Fps);
        var input = 0;
        string graph;
        string current;
        if (spec.Mode == VideoMode.ImageToVideo)
        {
            arguments.AddRange(["-i", "file:" + (spec.ImageFile ?? throw new ArgumentException("Image-to-video needs a first frame.", nameof(spec)))]);
            graph = $"[{input++}:v]" + KenBurns(spec, random, frames) + "[kb]";
            current = "[kb]";
            if (spec.LastFrameFile is { } last)
            {
                arguments.AddRange(["-loop", "1", "-framerate", fps, "-i", "file:" + last]);
                var start = Num(spec.DurationSeconds * 0.5);
                var length = Num(spec.DurationSeconds * 0.25);
                graph += $";[{input++}:v]scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1,format=rgba"
                    + $",fade=t=in:st={start}:d={length}:alpha=1[last];{current}[last]overlay=shortest=1[closing]";
                current = "[closing]";
            }
        }
        else
        {
            graph = TitleBackground(spec, random) + "[bg]";
            current = "[bg]";
        }

        var references = spec.ReferenceFiles ?? [];
        if (references.Count > 0)
        {
            var gap = Math.Max(2, Even(w / 60));
            var side = Even(Math.Min(h / 4, ((w * 9 / 10) - ((references.Count - 1) * gap)) / references.Count));
            var x = (w - ((references.Count * side) + ((references.Count - 1) * gap))) / 2;
            var y = Even(h / 8);
            for (var i = 0; i < references.Count; i++)
            {
                arguments.AddRange(["-loop", "1", "-framerate", fps, "-i", "file:" + references[i]]);
                graph += $";[{input++}:v]scale={side}:{side}:force_original_aspect_ratio=decrease,pad={side}:{side}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1[ref{i}]"
                    + $";{current}[ref{i}]overlay=x={x + (i * (side + gap))}:y={y}:shortest=1[with{i}]";
                current = $"[with{i}]";
            }
        }

        return graph + ";" + current + (spec.Mode == VideoMode.ImageToVideo ? string.Empty : TitleText(spec, files) + ",");
    }

    /// <summary>
    /// Concatenates two videos of the render folder (the source and its continuation) into <paramref name="outputPath"/>,
    /// both fitted to <paramref name="width"/>x<paramref name="height"/>: an extension's stitched whole.
    /// </summary>
    public Task ConcatAsync(int width, int height, string folder, string first, string second, string outputPath, IProgress<FfmpegProgress>? progress, Action<Process>? started, CancellationToken cancellationToken)
    {
        var fps = Int(_options.Fps);
        var fit = $"scale={width}:{height},setsar=1,fps={fps},format=yuv420p";
        List<string> arguments =
        [
            "-i", "file:" + first,
            "-i", "file:" + second,
            "-filter_complex", $"[0:v]{fit}[a];[1:v]{fit}[b];[a][b]concat=n=2:v=1:a=0[v]",
            "-map", "[v]",
            .. EncodeTo(Path.GetRelativePath(folder, outputPath)),
        ];
        return _runner.RunFfmpegAsync(arguments, progress, folder, started, cancellationToken);
    }

    // A slowly rotating three-colour gradient, drawn a little larger than the frame and panned across it.
    private string TitleBackground(RenderSpec spec, SplitMix64 random)
    {
        int w = spec.Width, h = spec.Height;
        var hue = random.NextDouble() * 360;
        var c0 = Hsv(hue, 0.62, 0.48);
        var c1 = Hsv(hue + 110 + (random.NextDouble() * 40), 0.55, 0.30);
        var c2 = Hsv(hue + 220 + (random.NextDouble() * 40), 0.58, 0.40);
        int mx = Even(w / 6), my = Even(h / 6);
        var fromRight = random.NextDouble() < 0.5;
        var fromBottom = random.NextDouble() < 0.5;
        var (sx, ex) = fromRight ? (mx, 0) : (0, mx);
        var (sy, ey) = fromBottom ? (my, 0) : (0, my);
        var d = Int(spec.DurationSeconds);
        var speed = Num(0.35 / _options.Fps);
        var gradientSeed = (uint)(spec.Seed ^ (spec.Seed >> 32));
        return $"gradients=s={w + mx}x{h + my}:r={_options.Fps}:c0={c0}:c1={c1}:c2={c2}:n=3:seed={gradientSeed}:speed={speed}"
            + $",crop={w}:{h}:x='{sx}+({ex - sx})*t/{d}':y='{sy}+({ey - sy})*t/{d}',setsar=1";
    }

    // The prompt, wrapped, centred line by line, fading in one line after another.
    private string TitleText(RenderSpec spec, Dictionary<string, string> files)
    {
        int w = spec.Width, h = spec.Height;
        var prompt = SandboxText.Clean(spec.Prompt).Trim();
        if (prompt.Length == 0)
        {
            prompt = "(no prompt)";
        }

        var minSize = Math.Max(8, h / 30);
        var size = Math.Max(minSize, h / 9);
        List<string> lines;
        while (true)
        {
            var maxChars = Math.Max(4, (int)(w * 0.86 / (size * 0.62)));
            var maxLines = Math.Max(1, (int)(h * 0.6 / (size * 1.3)));
            lines = SandboxText.Wrap(prompt, maxChars, size == minSize ? maxLines : int.MaxValue);
            if (lines.Count <= maxLines || size == minSize)
            {
                break;
            }

            size = Math.Max(minSize, (int)(size * 0.85));
        }

        var lineHeight = (int)Math.Round(size * 1.3);
        var top = (h - (lines.Count * lineHeight)) / 2;
        var fadeStep = Math.Min(0.15, spec.DurationSeconds / 3.0 / lines.Count);
        var border = Math.Max(1, size / 20);
        var parts = new List<string>(lines.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            var file = $"prompt{i}.txt";
            files[file] = lines[i];
            var start = Num(0.1 + (i * fadeStep));
            parts.Add($"drawtext={Font()}textfile={file}:expansion=none:fontsize={size}:fontcolor=white:borderw={border}:bordercolor=black@0.45"
                + $":x=(w-text_w)/2:y={top + (i * lineHeight)}:alpha='min(1,max(0,(t-{start})/0.6))'");
        }

        return string.Join(',', parts);
    }

    // Ken Burns: cover-fit at twice the output size (so the motion stays smooth), then zoom in or out while the
    // focus drifts between two seed-chosen points, eased at both ends.
    private string KenBurns(RenderSpec spec, SplitMix64 random, int frames)
    {
        int w = spec.Width, h = spec.Height;
        var zoomIn = random.NextDouble() < 0.5;
        var amount = Num(0.15 + (random.NextDouble() * 0.1));
        var fx0 = 0.1 + (random.NextDouble() * 0.8);
        var fy0 = 0.1 + (random.NextDouble() * 0.8);
        var fx1 = 0.1 + (random.NextDouble() * 0.8);
        var fy1 = 0.1 + (random.NextDouble() * 0.8);
        var p = $"(on/{Math.Max(1, frames - 1)})";
        var eased = $"({p}*{p}*(3-2*{p}))";
        var zoom = zoomIn ? $"1+{amount}*{eased}" : $"1+{amount}*(1-{eased})";
        return $"scale={2 * w}:{2 * h}:force_original_aspect_ratio=increase,crop={2 * w}:{2 * h},setsar=1"
            + $",zoompan=z='{zoom}':x='(iw-iw/zoom)*({Num(fx0)}+({Num(fx1 - fx0)})*{eased})':y='(ih-ih/zoom)*({Num(fy0)}+({Num(fy1 - fy0)})*{eased})'"
            + $":d={frames}:s={w}x{h}:fps={_options.Fps},setsar=1";
    }

    // Caption, stand-in notice, timer and a progress bar along the bottom edge; ends in the [v] output.
    private string Chrome(RenderSpec spec, Dictionary<string, string> files)
    {
        int w = spec.Width, h = spec.Height;
        var size = Math.Max(8, (int)Math.Round(h / 26.0));
        var margin = Math.Max(3, h / 40);
        var bar = Math.Max(2, Even(h / 120));
        var border = Math.Max(1, size / 16);
        var textY = $"h-{margin + bar}-text_h";
        var style = $"fontsize={size}:borderw={border}:bordercolor=black@0.5";
        files["caption.txt"] = Caption;
        files["timer.txt"] = $"%{{eif:t:d}}.%{{eif:mod(t*10,10):d}} / {spec.DurationSeconds} s";
        var chain = $"drawtext={Font()}textfile=caption.txt:expansion=none:{style}:fontcolor=white@0.85:x={margin}:y={textY}"
            + $",drawtext={Font()}textfile=timer.txt:expansion=normal:{style}:fontcolor=white@0.85:x=w-text_w-{margin}:y={textY}";
        if (!string.IsNullOrWhiteSpace(spec.StandInFor))
        {
            files["standin.txt"] = "SANDBOX stand-in for " + SandboxText.Clean(spec.StandInFor).Replace('\n', ' ').Trim();
            chain += $",drawtext={Font()}textfile=standin.txt:expansion=none:{style}:fontcolor=0xFFD54A:x=(w-text_w)/2:y={margin}";
        }

        if (!string.IsNullOrWhiteSpace(spec.Characters))
        {
            files["characters.txt"] = "with " + SandboxText.Clean(spec.Characters).Replace('\n', ' ').Trim();
            var y = string.IsNullOrWhiteSpace(spec.StandInFor) ? margin : (margin * 2) + size;
            chain += $",drawtext={Font()}textfile=characters.txt:expansion=none:{style}:fontcolor=0x9BE7FF:x=(w-text_w)/2:y={y}";
        }

        var step = Num(1.0 / _options.Fps);
        return chain + $"[base];color=c=white@0.85:s={w}x{bar}:r={_options.Fps}[bar];"
            + $"[base][bar]overlay=x='-W+W*min(1,(t+{step})/{spec.DurationSeconds})':y=H-{bar}:shortest=1,format=yuv420p[v]";
    }

    private string Font() => _fontFile is null ? string.Empty : $"fontfile={SandboxText.EscapeFilterValue(_fontFile)}:";

    private static int Even(int value) => value & ~1;

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Num(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    private static string Hsv(double hue, double saturation, double value)
    {
        hue = ((hue % 360) + 360) % 360;
        var c = value * saturation;
        var x = c * (1 - Math.Abs((hue / 60 % 2) - 1));
        var m = value - c;
        var (r, g, b) = (int)(hue / 60) switch
        {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        return $"0x{To255(r + m):X2}{To255(g + m):X2}{To255(b + m):X2}";

        static int To255(double v) => Math.Clamp((int)Math.Round(v * 255), 0, 255);
    }

    /// <summary>A tiny, stable pseudo-random sequence (SplitMix64): the same seed gives the same numbers on every platform and runtime.</summary>
    private sealed class SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public double NextDouble()
        {
            var z = unchecked(_state += 0x9E3779B97F4A7C15UL);
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            z ^= z >> 31;
            return (z >> 11) * (1.0 / (1UL << 53));
        }
    }
}
