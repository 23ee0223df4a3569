using System.Reflection;
using Reelay.Server;
using Reelay.Server.Dialects;

namespace Reelay.Server.Tests.Dialects;

/// <summary>Every dialect folder has the same parts, and every request reader has the one signature over <see cref="DialectContext"/>.</summary>
public sealed class DialectConventionTests
{
    private static readonly Type[] Types = typeof(ReelayServer).Assembly.GetTypes();

    /// <summary>The dialects: one namespace (folder) each under Reelay.Server.Dialects.</summary>
    public static TheoryData<string> Dialects() => new(DialectNames());

    [Fact]
    public void Dialects_Listed_AreTheFourKnownOnes()
    {
        Assert.Equal(["AimlApi", "ModelVerse", "OpenAI", "SoraRelay"], DialectNames());
    }

    private static List<string> DialectNames() =>
    [
        .. Types.Select(t => t.Namespace).OfType<string>()
            .Where(n => n.StartsWith("Reelay.Server.Dialects.", StringComparison.Ordinal))
            .Select(n => n["Reelay.Server.Dialects.".Length..].Split('.')[0])
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal),
    ];

    [Theory]
    [MemberData(nameof(Dialects))]
    public void DialectFolder_Any_HasEndpointsRequestReaderRendererAndWireContext(string dialect)
    {
        var space = "Reelay.Server.Dialects." + dialect;
        Assert.Contains(Types, t => t.Namespace == space && t.Name == dialect + "Endpoints");
        Assert.Contains(Types, t => t.Namespace == space && t.Name == dialect + "Renderer");
        Assert.Contains(Types, t => t.Namespace == space && t.Name == dialect + "JsonContext");
        var reader = Assert.Single(Types, t => t.Namespace == space && t.Name == dialect + "RequestReader");

        Assert.Contains(typeof(IDialectRequestReader), reader.GetInterfaces());
        var read = reader.GetMethod(nameof(IDialectRequestReader.ReadAsync), BindingFlags.Public | BindingFlags.Static);
        Assert.NotNull(read);
        Assert.Equal([typeof(DialectContext)], read.GetParameters().Select(p => p.ParameterType));
        Assert.NotNull(reader.GetField("Dialect", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string);
    }
}
