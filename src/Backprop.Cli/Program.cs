Console.WriteLine("backprop: commands arrive soon");
