using System.Text;

namespace Reelay.Providers.Sandbox;

/// <summary>Text helpers for the title card: cleaning, word wrapping and ffmpeg filter escaping.</summary>
internal static class SandboxText
{
    /// <summary>The ellipsis that ends a prompt cut short.</summary>
    public const string Ellipsis = "…";

    /// <summary>Normalises line breaks to \n and turns every other control character into a space.</summary>
    public static string Clean(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r')
            {
                builder.Append('\n');
                if (i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }
            }
            else if (c == '\n')
            {
                builder.Append('\n');
            }
            else
            {
                builder.Append(char.IsControl(c) || c is '\u2028' or '\u2029' ? ' ' : c);
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// Wraps <paramref name="text"/> at word boundaries into lines of at most <paramref name="maxChars"/> characters,
    /// keeping explicit line breaks and breaking words longer than a line. Past <paramref name="maxLines"/> lines the
    /// last kept line ends with an ellipsis. Blank lines are dropped.
    /// </summary>
    public static List<string> Wrap(string text, int maxChars, int maxLines)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLines, 1);
        var lines = new List<string>();
        var truncated = false;
        foreach (var paragraph in Clean(text).Split('\n'))
        {
            var line = new StringBuilder();
            foreach (var word in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var rest = word;
                while (rest.Length > 0)
                {
                    var room = line.Length == 0 ? maxChars : maxChars - line.Length - 1;
                    if (rest.Length <= room)
                    {
                        if (line.Length > 0)
                        {
                            line.Append(' ');
                        }

                        line.Append(rest);
                        rest = string.Empty;
                    }
                    else if (line.Length > 0)
                    {
                        lines.Add(line.ToString());
                        line.Clear();
                    }
                    else
                    {
                        // A word longer than a line: hard-break it, never between the halves of a surrogate pair.
                        var cut = char.IsHighSurrogate(rest[maxChars - 1]) ? maxChars - 1 : maxChars;
                        lines.Add(rest[..cut]);
                        rest = rest[cut..];
                    }
                }
            }

            if (line.Length > 0)
            {
                lines.Add(line.ToString());
            }

            if (lines.Count > maxLines)
            {
                truncated = true;
                break;
            }
        }

        if (lines.Count > maxLines)
        {
            truncated = true;
        }

        if (!truncated)
        {
            return lines;
        }

        lines.RemoveRange(maxLines, lines.Count - maxLines);
        var last = lines[^1];
        if (last.Length >= maxChars)
        {
            var cut = char.IsLowSurrogate(last[maxChars - 1]) ? maxChars - 2 : maxChars - 1;
            last = last[..cut];
        }

        lines[^1] = last.TrimEnd() + Ellipsis;
        return lines;
    }

    /// <summary>
    /// Escapes a value for use as a filter option inside a filter graph: first for the option parser
    /// (\ ' :), then for the graph parser (\ ' [ ] , ;).
    /// </summary>
    public static string EscapeFilterValue(string value)
    {
        var option = Escape(value, @"\':");
        return Escape(option, @"\'[],;");
    }

    private static string Escape(string value, string special)
    {
        var builder = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (special.Contains(c, StringComparison.Ordinal))
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
