using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Reelay.Engine;

namespace Reelay.Server.Content;

/// <summary>
/// Signs and checks Reelay's own content URLs: <c>/content/{id}/{variant}?expires=…&amp;signature=…</c>. Dialects whose
/// clients fetch result URLs without credentials (ModelVerse, AI/ML API, the Sora relay) hand these out, so a result
/// never points at an upstream URL that expires or needs a provider key. HMAC-SHA256 with a secret set by the operator
/// (Reelay:ContentUrlKey), or generated once and kept in the data folder (one node) or the database (several nodes on
/// PostgreSQL).
/// </summary>
public sealed class ContentUrlSigner
{
    /// <summary>File under the data folder holding the signing secret.</summary>
    public const string SecretFileName = "content-url.key";

    private readonly Lazy<byte[]> _secret;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;

    /// <summary>Creates a signer with an explicit secret.</summary>
    public ContentUrlSigner(byte[] secret, TimeProvider time, TimeSpan lifetime)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentOutOfRangeException.ThrowIfLessThan(secret.Length, 32);
        _secret = new Lazy<byte[]>(secret);
        _time = time;
        _lifetime = lifetime;
    }

    // The shared key is read when first needed, not at start (the store reports an unreachable database first), and a
    // failed read is not remembered: the next request tries again.
    private ContentUrlSigner(Func<byte[]> secret, TimeProvider time, TimeSpan lifetime)
    {
        _secret = new Lazy<byte[]>(secret, LazyThreadSafetyMode.PublicationOnly);
        _time = time;
        _lifetime = lifetime;
    }

    /// <summary>
    /// The signer of this gateway: with <paramref name="configuredKey"/> (Reelay:ContentUrlKey) its UTF-8 bytes; otherwise,
    /// when <paramref name="secrets"/> are shared (several nodes on PostgreSQL), the key stored in the database (the first
    /// node stores the key of its data folder when it has one, so links it handed out keep working, or a new one);
    /// otherwise the data folder's key (<see cref="FromDataFolder"/>).
    /// </summary>
    public static ContentUrlSigner Create(string dataDirectory, TimeProvider time, TimeSpan lifetime, Cluster.ISharedSecrets? secrets, string? configuredKey)
    {
        if (!string.IsNullOrEmpty(configuredKey))
        {
            return new ContentUrlSigner(Encoding.UTF8.GetBytes(configuredKey), time, lifetime);
        }

        if (secrets is { IsShared: true })
        {
            var path = Path.Combine(dataDirectory, SecretFileName);
            var existing = File.Exists(path) ? File.ReadAllBytes(path) : null;
            var candidate = existing is { Length: >= 32 } ? existing : RandomNumberGenerator.GetBytes(32);
            return new ContentUrlSigner(() => secrets.GetOrAdd(Cluster.SharedSecretNames.ContentUrlKey, candidate), time, lifetime);
        }

        return FromDataFolder(dataDirectory, time, lifetime);
    }

    /// <summary>Loads the secret from the data folder, creating it (mode 0600) on first use.</summary>
    public static ContentUrlSigner FromDataFolder(string dataDirectory, TimeProvider time, TimeSpan lifetime)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, SecretFileName);
        if (!File.Exists(path))
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            try
            {
                using var file = new FileStream(path, options);
                file.Write(RandomNumberGenerator.GetBytes(32));
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first; use theirs.
            }
        }

        return new ContentUrlSigner(File.ReadAllBytes(path), time, lifetime);
    }

    /// <summary>The path and query of a signed URL for a job's content, valid for the configured lifetime.</summary>
    public string SignedPath(string jobId, ContentVariant variant)
    {
        var expires = (_time.GetUtcNow() + _lifetime).ToUnixTimeSeconds();
        var name = VariantName(variant);
        return $"/content/{Uri.EscapeDataString(jobId)}/{name}?expires={expires.ToString(CultureInfo.InvariantCulture)}&signature={Signature(jobId, name, expires)}";
    }

    /// <summary>Whether a presented signature is valid and not expired.</summary>
    public bool Verify(string jobId, string variant, string? expires, string? signature)
    {
        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var unix) || signature is null
            || unix < _time.GetUtcNow().ToUnixTimeSeconds())
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Signature(jobId, variant, unix));
        var presented = Encoding.ASCII.GetBytes(signature);
        return CryptographicOperations.FixedTimeEquals(expected, presented);
    }

    /// <summary>"video", "thumbnail" or "spritesheet".</summary>
    public static string VariantName(ContentVariant variant) => variant switch
    {
        ContentVariant.Thumbnail => "thumbnail",
        ContentVariant.Spritesheet => "spritesheet",
        _ => "video",
    };

    /// <summary>The variant a URL segment names; null when it names none.</summary>
    public static ContentVariant? ParseVariant(string? name) => name switch
    {
        "video" => ContentVariant.Video,
        "thumbnail" => ContentVariant.Thumbnail,
        "spritesheet" => ContentVariant.Spritesheet,
        _ => null,
    };

    private string Signature(string jobId, string variant, long expires)
    {
        var mac = HMACSHA256.HashData(_secret.Value, Encoding.UTF8.GetBytes($"{jobId}\n{variant}\n{expires.ToString(CultureInfo.InvariantCulture)}"));
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
