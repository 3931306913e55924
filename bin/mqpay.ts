console.log("mqpay");
