using Reelay.Storage;

namespace Reelay.Tests.Storage;

public sealed class StoreOptionsTests
{
    [Fact]
    public void Validate_Defaults_NoProblems()
    {
        Assert.Empty(new StoreOptions().Validate());
    }

    [Fact]
    public void Validate_PostgresWithConnectionString_NoProblems()
    {
        Assert.Empty(new StoreOptions { Provider = "postgres", ConnectionString = "Host=db;Database=reelay;Username=reelay;Password=pw" }.Validate());
    }

    [Fact]
    public void Validate_UnknownProvider_NamesTheKeyAndTheAllowedValues()
    {
        var problem = Assert.Single(new StoreOptions { Provider = "mysql" }.Validate());

        Assert.Contains("Reelay:Store:Provider 'mysql'", problem, StringComparison.Ordinal);
        Assert.Contains("sqlite, postgres", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PostgresWithoutConnectionString_SaysItIsRequired()
    {
        var problem = Assert.Single(new StoreOptions { Provider = "postgres" }.Validate());

        Assert.Contains("Reelay:Store:ConnectionString is required", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=db;Password=hunter2-secret;Bogus Key=hunter2-secret")]
    [InlineData("Host=db;Port=hunter2-secret")]
    [InlineData("Password=hunter2-secret;Database=reelay")]
    public void Validate_PostgresBadConnectionString_ExplainsWithoutEchoingIt(string connectionString)
    {
        var problem = Assert.Single(new StoreOptions { Provider = "postgres", ConnectionString = connectionString }.Validate());

        Assert.Contains("Reelay:Store:ConnectionString is not a valid PostgreSQL connection string", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", problem, StringComparison.Ordinal);
    }
}
