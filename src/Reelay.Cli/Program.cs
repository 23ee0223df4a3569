Console.WriteLine("reelay");
