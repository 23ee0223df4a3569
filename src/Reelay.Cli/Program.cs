using Reelay.Cli;

var context = CliContext.FromConsole();
var root = ReelayCli.CreateRootCommand(context);
return await ReelayCli.InvokeAsync(root, args, context);
