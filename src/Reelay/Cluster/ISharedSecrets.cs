namespace Reelay.Cluster;

/// <summary>
/// Generated secrets every node must share (the callback URL key, the content URL signing key). One process keeps them in
/// its data folder (<see cref="IsShared"/> false: nothing here is used). Several nodes on PostgreSQL keep them in the
/// database (table <c>reelay_secrets</c>), so no file has to be copied between nodes. Values are never logged.
/// </summary>
public interface ISharedSecrets
{
    /// <summary>Whether secrets are kept outside the data folder.</summary>
    bool IsShared { get; }

    /// <summary>
    /// The secret called <paramref name="name"/>: the stored one, or <paramref name="candidate"/>, stored now when none is
    /// (the first node to ask decides; every other node then reads the same value). Synchronous: asked once per process,
    /// when the key is first needed.
    /// </summary>
    byte[] GetOrAdd(string name, byte[] candidate);
}

/// <summary>One process: secrets stay in the data folder.</summary>
public sealed class LocalSecrets : ISharedSecrets
{
    /// <summary>The one instance.</summary>
    public static LocalSecrets Instance { get; } = new();

    /// <inheritdoc />
    public bool IsShared => false;

    /// <inheritdoc />
    public byte[] GetOrAdd(string name, byte[] candidate) => candidate;
}

/// <summary>The names of the shared secrets.</summary>
public static class SharedSecretNames
{
    /// <summary>The key of the per-job callback URLs (<c>Reelay.Callbacks.CallbackUrls</c>).</summary>
    public const string CallbackKey = "callback-key";

    /// <summary>The key that signs Reelay's content URLs.</summary>
    public const string ContentUrlKey = "content-url-key";
}
